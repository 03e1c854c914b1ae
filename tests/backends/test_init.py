"""``guardkit.backends``: turning a spec and ``-O key=value`` options into a backend."""

from __future__ import annotations

import pytest

from guardkit._exceptions import ConfigError
from guardkit.backends import get_backend


@pytest.mark.parametrize(
    ("spec", "valid"),
    [
        ("fake", "batch_size, delay, fail_on, thresholds"),
        ("builtin", "artifact, batch_size, category_min, max_tokens, num_threads, prompt_harmful, "
                    "response_harmful, response_refusal, thresholds"),
    ],
)
def test_unknown_option_names_it_and_lists_the_valid_ones(spec, valid):
    with pytest.raises(ConfigError) as info:
        get_backend(spec, {"foo": "1"})
    assert str(info.value) == f"backend {spec!r}: unknown option 'foo'; valid options: {valid}"


def test_known_options_still_build():
    clf = get_backend("fake", {"batch_size": "3", "fail_on": "zzz", "delay": "0"})
    assert clf.batch_size == 3 and clf.fail_on == "zzz"  # type: ignore[attr-defined]
