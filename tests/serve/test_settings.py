"""Settings files, precedence, the CLI and the optional-dependency promise."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from guardkit import ConfigError
from guardkit.cli import app as cli_app
from guardkit.cli import main
from guardkit.serve import Policy, ServeSettings, create_app, load_settings

TOML = """
[serve]
backend = "fake"
port = 9000
upstream = "http://127.0.0.1:8001/v1/"
thresholds = { prompt_harmful = 0.7 }

[serve.policy]
fail_mode = "open"
block = ["response_harmful"]
stream_check_chars = 80
"""


def test_toml_file(tmp_path):
    f = tmp_path / "guardkit.toml"
    f.write_text(TOML)
    s = load_settings(f, env={})
    assert (s.backend, s.port, s.upstream) == ("fake", 9000, "http://127.0.0.1:8001/v1")
    assert s.policy == Policy(fail_mode="open", block=("response_harmful",), stream_check_chars=80)
    assert s.thresholds == {"prompt_harmful": 0.7}


def test_json_file_and_precedence(tmp_path):
    f = tmp_path / "serve.json"
    f.write_text(json.dumps({"backend": "fake", "port": 9000, "backend_options": {"a": "1"}}))
    s = load_settings(
        f,
        {"port": 9100, "host": None, "backend_options": {"b": "2"}},
        env={"GUARDKIT_UPSTREAM_API_KEY": "sk-up"},
    )
    assert s.port == 9100  # flag beats file
    assert s.host == "127.0.0.1"  # None = flag not given
    assert s.backend_options == {"a": "1", "b": "2"}
    assert s.upstream_api_key == "sk-up"
    assert "sk-up" not in repr(s)  # secrets stay out of reprs and logs


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("port = 'x'", "a.toml", "invalid server settings: port: Input should be a valid integer"),
        ("nope = 1", "a.toml", "invalid server settings: nope: Extra inputs are not permitted"),
        ("[serve", "a.toml", "is not valid TOML"),
        ("{", "a.json", "is not valid JSON"),
        ("x: 1", "a.yaml", "must end in .toml or .json"),
        ("fallback_category = 'copyright'", "a.toml", "must be one of OpenAI's categories"),
        ("upstream = 'localhost:8001'", "a.toml", "must be an http(s) base URL"),
        ("thresholds = { prompt_harmful = 2.0 }", "a.toml", "threshold for prompt_harmful must be in [0, 1]"),
        ("[policy]\nfail_mode = 'maybe'", "a.toml", "policy.fail_mode: Input should be 'closed' or 'open'"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path, content, name, message):
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        load_settings(f, env={})


@pytest.mark.parametrize(
    ("content", "env", "overrides", "message"),
    [
        (b"serve = 1", {}, {}, "'serve' must be a table/object, got int"),
        (b"\xff = 1", {}, {}, "is not UTF-8 text"),
        (b"api_keys = 'secret'", {"GUARDKIT_API_KEYS": "k"}, {}, "api_keys: must be a list of keys, got str"),
        (b"backend_options = 'x'", {}, {"backend_options": {"a": "b"}}, "backend_options: must be a table/object, got str"),
    ],
)
def test_malformed_file_values_are_config_errors(tmp_path, content, env, overrides, message):
    f = tmp_path / "a.toml"
    f.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(f, overrides, env=env)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "none.toml", env={})


def test_unknown_backend_fails_at_create_app():
    with pytest.raises(ConfigError, match="unknown backend 'nope'"):
        create_app(ServeSettings(backend="nope"))


def test_cli_help():
    result = CliRunner().invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0
    for flag in ("--host", "--port", "--backend", "--backend-opt", "--upstream", "--config"):
        assert flag in result.output


def test_cli_bad_backend_is_one_line_and_exit_2(capsys):
    assert main(["serve", "--backend", "nope"]) == 2
    assert "error: unknown backend 'nope'" in capsys.readouterr().err


def test_cli_bad_backend_option(capsys):
    assert main(["serve", "--backend", "fake", "--backend-opt", "novalue"]) == 2
    assert "backend option must look like key=value" in capsys.readouterr().err


def test_cli_starts_uvicorn(monkeypatch):
    seen = {}
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert main(["serve", "--backend", "fake", "--port", "8123", "--upstream", "http://x:1/v1"]) == 0
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert seen["app"].state.settings.upstream == "http://x:1/v1"


def test_missing_server_extra_names_the_extra():
    code = (
        "import sys; sys.modules['fastapi'] = None\n"
        "try:\n    import guardkit.serve\nexcept ImportError as e:\n    print(type(e).__name__, e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "MissingDependency" in out and "pip install 'guardkit[server]'" in out


def test_import_guardkit_stays_light():
    code = "import sys, guardkit, guardkit.cli; print([m for m in ('fastapi', 'uvicorn', 'prometheus_client') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "[]"
