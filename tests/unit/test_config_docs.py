from __future__ import annotations

from pathlib import Path

from rcs_cli.config_docs import ROOT_PACKAGES, render, settings_classes
from rcs_runtime.settings import RcsSettings

ROOT = Path(__file__).resolve().parents[2]


def test_every_process_settings_class_is_found() -> None:
    names = {c.__name__ for c in settings_classes()}
    assert {"RcsSettings", "DatabaseSettings", "RestSettings", "CoreSettings"} <= names
    assert all(issubclass(c, RcsSettings) for c in settings_classes())


def test_every_package_with_a_settings_module_is_read() -> None:
    """A process package left out of the generator's list would silently drop its settings."""
    with_settings = {
        p.parent.name
        for p in [*ROOT.glob("*/settings.py"), *ROOT.glob("*/config.py")]
        if p.parent.name != "rcs"
    }
    assert with_settings <= set(ROOT_PACKAGES), with_settings - set(ROOT_PACKAGES)


def test_fields_are_documented_with_their_variable_default_and_comment() -> None:
    text = render()
    # A field with a comment above it, from gateways/rest/settings.py.
    assert (
        "| `RCS_AUTH_CACHE_SECONDS` | float | `30.0` | How long a successful login/password"
        " check is reused; 0 disables the cache. |"
    ) in text
    # A field with a trailing comment, from rcs_runtime/settings.py.
    assert "| `RCS_METRICS_PORT` | int | `0` | 0: no Prometheus endpoint |" in text


def test_configuration_doc_is_generated_from_the_settings_classes() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == render(), (
        "docs/configuration.md is stale: run `.venv/bin/rcs docs config > docs/configuration.md`"
    )
