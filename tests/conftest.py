import sys
from pathlib import Path

# shared test helpers (seeds.py, webfixtures.py) live beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent))
