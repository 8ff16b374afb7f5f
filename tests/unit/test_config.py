"""The configuration file: defaults, environment overrides and rejected values."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kiosk.config import load_config, parse_config
from kiosk.errors import ConfigError


def test_defaults_without_file() -> None:
    config = parse_config({})
    assert config.capture.default_region == "US"
    assert config.sync.lease_s > config.crm.timeout_s
    assert config.badge_layouts == ()


def test_environment_overrides_crm_table() -> None:
    data = {"crm": {"url": "https://a.example.com", "api_key": "from-file"}}
    environ = {"KIOSK_CRM_URL": "https://b.example.com", "KIOSK_CRM_API_KEY": "env"}
    config = parse_config(data, environ=environ)
    assert config.crm.url == "https://b.example.com"
    assert config.crm.api_key == "env"


def test_layouts_hosts_and_questions() -> None:
    text = """
[kiosk]
[[kiosk.questions]]
key = "timeline"
label = "Buying timeline"
kind = "choice"
choices = ["Now", "Later"]

[[badges.layouts]]
delimiter = ";"
columns = ["badge_id", "name", "email", "ignore"]

[[badges.hosts]]
host = "Reg.Example.com"
id_param = "aid"
"""
    config = parse_config(tomllib.loads(text))
    assert config.kiosk.questions[0].choices == ("Now", "Later")
    assert config.badge_layouts[0].columns == ("badge_id", "name", "email", "ignore")
    assert config.badge_hosts[0].host == "reg.example.com"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"capure": {}}, "Unknown configuration key"),
        ({"sync": {"lease_s": 5.0}}, "must be longer than [crm] timeout_s"),
        ({"crm": {"timeout_s": 0}}, "[crm] timeout_s must be a positive number"),
        ({"sync": {"batch_size": 101}}, "batch_size must be from 1 to 100"),
        ({"sync": {"rate_limit_per_minute": -1}}, "rate_limit_per_minute"),
        ({"capture": {"fps": "30"}}, "[capture] fps must be a int"),
        ({"badges": {"layouts": [{"delimiter": ";", "columns": ["age"]}]}}, "age"),
        ({"kiosk": {"questions": [{"key": "q", "label": "Q", "kind": "x"}]}}, "kind"),
    ],
)
def test_bad_values_rejected(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert message in str(error.value)


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe[crm]\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_missing_named_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")
