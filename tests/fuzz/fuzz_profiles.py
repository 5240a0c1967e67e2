"""The fuzzer's hypothesis profiles, and the settings each fuzz test runs under.

- "fuzz-ci" (the default): derandomized, so CI runs the same cases every time, with a few
  examples per test; the whole folder takes a couple of minutes.
- "fuzz" (HYPOTHESIS_PROFILE=fuzz, what `nox -s fuzz` selects): random, thousands of examples
  per test; run it for as long as you like (`timeout -s INT 600 ...` stops it cleanly).

NOTE: tests/conftest.py loads HYPOTHESIS_PROFILE while it is imported, before this folder's
conftest.py exists for pytest, so `HYPOTHESIS_PROFILE=fuzz` needs this module loaded first:
`PYTHONPATH=tests/fuzz pytest -p fuzz_profiles tests/fuzz` (nox -s fuzz does this), or
select the profile with `pytest tests/fuzz --hypothesis-profile=fuzz` instead.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

__all__ = ["fuzz_settings", "QUICK_EXAMPLES", "LONG_EXAMPLES"]

QUICK_EXAMPLES = int(os.environ.get("TINYGPT_FUZZ_EXAMPLES", "40"))
LONG_EXAMPLES = int(os.environ.get("TINYGPT_FUZZ_EXAMPLES", "3000"))

_SLACK = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]

# no "explain" phase: the failure message already is the reproducer
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

settings.register_profile(
    "fuzz-ci",
    max_examples=QUICK_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=_SLACK,
    phases=_PHASES,
)
settings.register_profile(
    "fuzz",
    max_examples=LONG_EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLACK,
    phases=_PHASES,
)


def fuzz_settings() -> settings:
    """The profile a fuzz test runs under: "fuzz" when selected, else "fuzz-ci"."""
    chosen = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
    chosen = chosen or settings.get_current_profile_name() == "fuzz"
    return settings.get_profile("fuzz" if chosen else "fuzz-ci")
