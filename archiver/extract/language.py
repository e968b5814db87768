"""Language detection with py3langid (light, deterministic)."""
from __future__ import annotations

from functools import cache

MIN_CHARS = 20
# Classifying costs time in proportion to the text; a report's first thousand
# characters tell its language as surely as the whole (1.6 ms for 4 KB, 0.45 ms for 1 KB).
SAMPLE_CHARS = 1000


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code, or None for text too short or too uncertain to tell."""
    text = text.strip()
    if len(text) < MIN_CHARS:
        return None
    language, probability = _identifier().classify(text[:SAMPLE_CHARS])
    return language if probability >= 0.5 else None


def preload() -> None:
    """Load the model now (about 0.7 s), e.g. once before forking workers that share it."""
    _identifier()
