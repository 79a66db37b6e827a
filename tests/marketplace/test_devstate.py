"""A development checkout's var/: made, and its made-up secrets kept, by the run commands only."""

from __future__ import annotations

from types import SimpleNamespace

from django.core.exceptions import ImproperlyConfigured

from marketplace import devstate


def _config(tmp_path, *, debug: bool = True, **values):
    settings = {
        "DEBUG": debug,
        "VAR_DIR": tmp_path / "var",
        "STATIC_ROOT": tmp_path / "var" / "static",
        "VAR_SECRETS": {"SECRET_KEY": "DJANGO_SECRET_KEY"},
        "SECRET_KEY": "made-up",
    }
    return SimpleNamespace(**(settings | values))


def test_prepare_makes_the_folders_and_keeps_the_made_up_secrets_for_their_owner(tmp_path):
    config = _config(tmp_path)

    devstate.prepare(config)

    kept = tmp_path / "var" / "django_secret_key.secret"
    assert (tmp_path / "var" / "static").is_dir()
    assert kept.read_text() == "made-up" and kept.stat().st_mode & 0o777 == 0o600
    assert devstate.read_secret(tmp_path / "var", "DJANGO_SECRET_KEY") == "made-up"


def test_a_secret_kept_already_wins_over_one_made_up_since(tmp_path):
    devstate.prepare(_config(tmp_path))
    later = _config(tmp_path, SECRET_KEY="made-up-later")  # as if read before the first kept it

    devstate.prepare(later)

    assert later.SECRET_KEY == "made-up"
    assert devstate.read_secret(tmp_path / "var", "DJANGO_SECRET_KEY") == "made-up"


def test_secrets_the_environment_gives_are_not_kept(tmp_path):
    devstate.prepare(_config(tmp_path, VAR_SECRETS={}))

    assert [p.name for p in (tmp_path / "var").iterdir()] == ["static"]


def test_production_and_unreadable_settings_write_nothing(tmp_path):
    class Unreadable:
        @property
        def DEBUG(self):
            raise ImproperlyConfigured("Set the DJANGO_SECRET_KEY environment variable")

    devstate.prepare(_config(tmp_path, debug=False))
    devstate.prepare(Unreadable())

    assert list(tmp_path.iterdir()) == []


def test_nothing_kept_reads_as_empty(tmp_path):
    assert devstate.read_secret(tmp_path, "DJANGO_SECRET_KEY") == ""
