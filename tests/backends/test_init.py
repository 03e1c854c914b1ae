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


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("fake", {"batch_size": "true"}, "backend 'fake': option batch_size must be an integer, got 'true'"),
        ("fake", {"batch_size": "no"}, "backend 'fake': option batch_size must be an integer, got 'no'"),
        ("fake", {"delay": "false"}, "backend 'fake': option delay must be a number, got 'false'"),
        ("builtin", {"num_threads": "true"}, "backend 'builtin': option num_threads must be an integer, got 'true'"),
        ("openai:http://h/v1#m", {"chat": "2"}, "backend 'openai': option chat must be true or false (or 1 / 0), got '2'"),
        ("hf:m", {"local_files_only": "0.5"}, "backend 'hf': option local_files_only must be true or false (or 1 / 0), got '0.5'"),
    ],
)
def test_bool_for_a_number_and_number_for_a_bool_are_config_errors(spec, options, message):
    with pytest.raises(ConfigError) as info:
        get_backend(spec, options)
    assert str(info.value) == message


def test_bools_and_numbers_where_they_belong_still_build():
    clf = get_backend("openai:http://h/v1#m", {"chat": "true", "timeout": "5", "max_retries": "0"})
    assert clf.chat is True and clf.timeout == 5  # type: ignore[attr-defined]


def test_one_and_zero_are_accepted_for_a_bool_option():
    clf = get_backend("openai:http://h/v1#m", {"chat": "1"})
    assert clf.chat  # type: ignore[attr-defined]
