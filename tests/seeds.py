"""The seed reports (examples/reports), shared by the build tests."""
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "reports"
SEED_000 = EXAMPLES / "000_5ed87340bfc4ba71.txt"
SEED_002 = EXAMPLES / "002_7411d2c347773d6f.txt"
SEED_003 = EXAMPLES / "003_e8bb3f61511eb9e0.txt"
