"""Hosting limits without a server: the session gate, the "server full" decision, and how the
serve command turns its options into limits and pn.serve keywords."""

from __future__ import annotations

import json
import threading

import pytest

from explorer.app import hosting
from explorer.app.hosting import Hosting, SessionGate
from explorer.cli import build_parser
from explorer.commands.serve import PUBLIC_UPLOAD_BYTES, hosting_limits, server_options


def serve_args(*argv: str):
    return build_parser().parse_args(["serve", *argv])


# ---------------------------------------------------------------------- the session gate
def test_the_gate_admits_up_to_its_limit_and_turns_the_rest_away():
    gate = SessionGate(limit=2)
    first, second, third = gate.enter(), gate.enter(), gate.enter()
    assert first is not None and second is not None and third is None
    assert (gate.active, gate.admitted, gate.turned_away) == (2, 2, 1)


def test_a_released_place_admits_the_next_visitor_and_releasing_twice_counts_once():
    gate = SessionGate(limit=1)
    slot = gate.enter()
    slot.release()
    slot.release()
    assert gate.active == 0
    assert gate.enter() is not None and gate.enter() is None


def test_a_gate_without_a_limit_admits_everyone():
    gate = SessionGate()
    assert all(gate.enter() is not None for _ in range(500)) and gate.active == 500


def test_the_count_stays_exact_under_concurrent_entries_and_releases():
    gate = SessionGate(limit=50)
    admitted, start = [], threading.Barrier(16)

    def visitor() -> None:
        start.wait()
        for _ in range(200):
            slot = gate.enter()
            if slot is not None:
                admitted.append(1)
                slot.release()
                slot.release()

    threads = [threading.Thread(target=visitor) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gate.active == 0 and gate.admitted == len(admitted) == 16 * 200 - gate.turned_away


def test_a_slot_measures_its_idle_time_from_the_last_touch():
    slot = SessionGate().enter()
    slot.last_active -= 100
    assert slot.idle_seconds() >= 100
    slot.touch()
    assert slot.idle_seconds() < 1


# ---------------------------------------------------------------------- the page a visitor gets
def test_a_full_server_answers_with_the_light_try_again_page(tiny_pack):
    from explorer.app.main import create_app

    hosting.sessions.limit = 1
    held = hosting.sessions.enter()
    page = create_app()
    text = page.objects[0].object
    assert "Latent Explorer is full" in text and "All 1 places" in text and "try again in a minute" in text
    assert hosting.sessions.turned_away >= 1
    held.release()


def test_with_a_free_place_the_explorer_is_built_and_outside_a_server_the_place_is_given_back(tiny_pack):
    import panel as pn

    from explorer.app.main import create_app

    hosting.sessions.limit = 1
    page = create_app()
    assert isinstance(page, pn.template.BaseTemplate)
    assert hosting.sessions.active == 0  # no Bokeh session to hold the place for


# ---------------------------------------------------------------------- limits from the command line
def test_public_mode_defaults_to_small_uploads_four_threads_and_an_idle_timeout():
    limits = hosting_limits(serve_args("--public"))
    assert limits == Hosting(idle_timeout_s=1800.0, upload_bytes=PUBLIC_UPLOAD_BYTES, public=True)
    assert limits.websocket_max_message_bytes < 4 * 2**20  # 2 MiB as base64 plus a margin


def test_explicit_options_win_over_the_public_defaults():
    limits = hosting_limits(serve_args("--public", "--max-upload-mb", "0.5", "--idle-timeout", "5",
                                       "--max-sessions", "30"))
    assert (limits.upload_bytes, limits.idle_timeout_s, limits.max_sessions) == (2**19, 300.0, 30)


def test_without_public_mode_nothing_is_limited_but_the_ten_mib_upload():
    limits = hosting_limits(serve_args())
    assert limits == Hosting() and limits.upload_bytes == 10 * 2**20


@pytest.mark.parametrize("argv, message", [
    (("--max-sessions", "0"), "max_sessions must be at least 1"),
    (("--idle-timeout", "0"), "idle timeout must be a positive"),
    (("--max-upload-mb", "50"), "upload limit must be between"),
])
def test_impossible_limits_are_refused(argv, message):
    with pytest.raises(ValueError, match=message):
        hosting_limits(serve_args(*argv))


def test_num_procs_0_means_one_process_per_core_and_negative_is_refused():
    from explorer.commands.serve import process_count

    assert process_count(0, cores=6) == 6
    assert process_count(3, cores=6) == 3
    with pytest.raises(ValueError, match="num-procs must be >= 0"):
        process_count(-1)


def test_torch_threads_default_to_half_the_cores_per_process_at_least_one():
    from explorer.commands.serve import torch_threads

    assert torch_threads(None, processes=1, cores=2) == 1
    assert torch_threads(None, processes=1, cores=8) == 4
    assert torch_threads(None, processes=4, cores=8) == 1
    assert torch_threads(3, processes=4, cores=8) == 3
    with pytest.raises(ValueError, match="torch-threads must be >= 1"):
        torch_threads(0, processes=1)


def test_max_sessions_is_shared_out_among_the_processes():
    args = serve_args("--max-sessions", "30")
    assert hosting_limits(args, processes=1).max_sessions == 30
    assert hosting_limits(args, processes=4).max_sessions == 8  # 4 × 8 >= 30: nobody loses a place
    assert hosting_limits(serve_args(), processes=4).max_sessions is None


def test_session_expiry_becomes_bokehs_unused_session_lifetime():
    args = serve_args("--session-expiry", "2")
    options, _ = server_options(args, hosting_limits(args))
    assert options["unused_session_lifetime_milliseconds"] == 120_000
    assert options["check_unused_sessions_milliseconds"] == 17_000


def test_every_server_has_a_health_endpoint_and_a_websocket_limit_that_fits_one_upload():
    from explorer.app import sidechannel

    args = serve_args("--public")
    limits = hosting_limits(args)
    options, _ = server_options(args, limits)
    assert [pattern for pattern, _ in options["extra_patterns"]] == [r"/health", sidechannel.PATH]
    assert options["websocket_max_message_size"] == limits.websocket_max_message_bytes
    assert limits.websocket_max_message_bytes >= PUBLIC_UPLOAD_BYTES * 4 / 3
    assert sidechannel.MAX_MESSAGE_BYTES <= limits.websocket_max_message_bytes
    # --server-decode: no side channel at all, every slider step through Bokeh
    try:
        options, _ = server_options(serve_args("--public", "--server-decode"), limits)
        assert [pattern for pattern, _ in options["extra_patterns"]] == [r"/health"] and not sidechannel.enabled()
    finally:
        sidechannel.configure(enabled=True)


@pytest.mark.parametrize("argv, message", [
    (("--public", "--admin"), "admin page"),
    (("--num-threads", "-1"), "num-threads must be >= 0"),
    (("--batch-window-ms", "500"), "between 0 and 100"),
    (("--session-expiry", "-1"), "positive number of minutes"),
])
def test_unsafe_or_impossible_server_options_are_refused(argv, message):
    args = serve_args(*argv)
    with pytest.raises(ValueError, match=message):
        server_options(args, hosting_limits(args))


def test_the_serve_command_reports_a_bad_option_and_exits_with_2(capsys):
    from explorer.cli import main

    assert main(["serve", "--public", "--admin", "--no-show"]) == 2
    assert "add --basic-auth or --oauth-provider" in capsys.readouterr().err


# ---------------------------------------------------------------------- access
def test_a_basic_auth_password_gets_a_generated_cookie_secret():
    args = serve_args("--basic-auth", "workshop-2026")
    options, notes = server_options(args, hosting_limits(args))
    assert options["basic_auth"] == "workshop-2026" and len(options["cookie_secret"]) >= 32
    assert any("cookie secret" in note for note in notes)


def test_a_basic_auth_file_of_users_is_checked(tmp_path):
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"ada": "correct horse"}))
    args = serve_args("--basic-auth", str(users), "--cookie-secret", "s" * 40)
    options, notes = server_options(args, hosting_limits(args))
    assert (options["basic_auth"], options["cookie_secret"], notes) == (str(users), "s" * 40, [])


@pytest.mark.parametrize("value, message", [
    ("users.json", "looks like a file path, but there is no such file"),
    ("short", "at least 8 characters"),
])
def test_a_mistyped_basic_auth_file_or_a_short_password_is_refused(value, message):
    args = serve_args("--basic-auth", value)
    with pytest.raises(ValueError, match=message):
        server_options(args, hosting_limits(args))


def test_a_basic_auth_file_that_is_not_a_user_table_is_refused(tmp_path):
    users = tmp_path / "users.json"
    users.write_text("[1, 2]")
    args = serve_args("--basic-auth", str(users))
    with pytest.raises(ValueError, match='must hold {"user": "password"'):
        server_options(args, hosting_limits(args))


@pytest.mark.parametrize("argv, message", [
    (("--basic-auth", "long enough", "--oauth-provider", "github"), "not both"),
    (("--oauth-provider", "myspace"), "unknown --oauth-provider 'myspace'"),
    (("--oauth-provider", "github"), "needs --oauth-key and --oauth-secret"),
    (("--oauth-provider", "github", "--oauth-key", "k", "--oauth-secret", "s"), "needs --cookie-secret"),
    (("--oauth-key", "k"), "need --oauth-provider"),
    (("--oauth-provider", "github", "--oauth-key", "k", "--oauth-secret", "s", "--cookie-secret", "c" * 32,
      "--oauth-encryption-key", "short"), "32 URL-safe base64 bytes"),
])
def test_incomplete_oauth_settings_are_refused_with_what_to_add(argv, message, monkeypatch):
    for name in ("PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET", "PANEL_COOKIE_SECRET", "PANEL_OAUTH_ENCRYPTION"):
        monkeypatch.delenv(name, raising=False)
    args = serve_args(*argv)
    with pytest.raises(ValueError, match=message):
        server_options(args, hosting_limits(args))


def test_complete_oauth_settings_pass_through_to_panel(monkeypatch):
    for name in ("PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET", "PANEL_COOKIE_SECRET", "PANEL_OAUTH_ENCRYPTION"):
        monkeypatch.delenv(name, raising=False)
    args = serve_args("--oauth-provider", "github", "--oauth-key", "id", "--oauth-secret", "secret",
                      "--cookie-secret", "c" * 32, "--oauth-redirect-uri", "https://demo.example/")
    options, notes = server_options(args, hosting_limits(args))
    assert {k: options[k] for k in ("oauth_provider", "oauth_key", "oauth_secret", "oauth_redirect_uri")} == {
        "oauth_provider": "github", "oauth_key": "id", "oauth_secret": "secret",
        "oauth_redirect_uri": "https://demo.example/"}
    assert any("unencrypted" in note for note in notes)
