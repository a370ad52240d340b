"""Import hygiene: `import expt` loads no ML library; a missing one names the extra to install."""
from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ["lightgbm", "numpy", "sklearn", "matplotlib", "pandas", "scipy"]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("statement", ["import expt", "import expt.integrations"])
def test_import_loads_no_ml_library(statement):
    """`import expt` and `import expt.integrations` import none of the heavy libraries."""
    proc = _python(f"{statement}; import sys; "
                   f"print([m for m in {HEAVY!r} if m in sys.modules])")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_lightgbm_integration_does_not_import_matplotlib():
    """The LightGBM integration imports matplotlib only when it draws a chart."""
    # some LightGBM versions import matplotlib themselves: compare with lightgbm alone
    proc = _python("import sys, lightgbm; before = 'matplotlib' in sys.modules\n"
                   "import expt.integrations.lightgbm\n"
                   "print(before, 'matplotlib' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    before, after = proc.stdout.split()
    assert after == before


@pytest.mark.parametrize("module, missing", [
    ("expt.integrations.lightgbm", "lightgbm"),
    ("expt.integrations.sklearn", "sklearn"),
])
def test_missing_package_names_the_extra(module, missing):
    """With the library absent, importing the integration says pip install "expt[lightgbm]"."""
    proc = _python(f"import sys; sys.modules[{missing!r}] = None\n"
                   f"try:\n    import {module}\n"
                   "except ImportError as e:\n    print(e)\n")
    assert proc.returncode == 0, proc.stderr
    assert f"'{missing}'" in proc.stdout and 'pip install "expt[lightgbm]"' in proc.stdout
