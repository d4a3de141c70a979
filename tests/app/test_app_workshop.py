"""Presenter mode without a server: the room file (atomic, versioned across processes), the token
check, the one poller per worker, and a participant's page applying the presenter's link."""

from __future__ import annotations

import json
import multiprocessing
import os

import numpy as np
import pytest

from explorer.app.workshop import Counts, Member, RoomPoller, RoomStore, Workshop, token_matches


class FakeDoc:
    """A document's next-tick queue, run by hand."""

    def __init__(self):
        self.pending = []

    def add_next_tick_callback(self, callback):
        self.pending.append(callback)

    def run(self) -> int:
        ran, self.pending = self.pending, []
        for callback in ran:
            callback()
        return len(ran)


@pytest.fixture
def store(tmp_path) -> RoomStore:
    return RoomStore(Workshop.create(tmp_path / "room").folder)


def test_each_publish_replaces_the_room_whole_with_the_next_version(store):
    assert store.read() is None
    assert store.publish({"pack": "p", "view": "analogy"}) == 1
    assert store.publish({"pack": "p", "view": "mine"}) == 2
    state = store.read()
    assert (state.version, state.query) == (2, {"pack": "p", "view": "mine"})
    assert sorted(path.name for path in store.folder.iterdir()) == ["followers", "room.json", "room.lock"]


def _publish_many(folder: str, count: int, queue) -> None:
    store = RoomStore(folder)
    queue.put([store.publish({"from": str(os.getpid()), "n": str(n)}) for n in range(count)])


def test_versions_from_two_processes_never_repeat(store):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_publish_many, args=(str(store.folder), 25, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    versions = queue.get(timeout=60) + queue.get(timeout=60)
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(versions) == list(range(1, 51))
    assert store.read().version == 50


def test_a_reader_never_sees_half_a_room_file(store):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    writer = context.Process(target=_publish_many, args=(str(store.folder), 200, queue))
    writer.start()
    seen = set()
    while writer.is_alive() or not seen:
        state = store.read()  # raises on a torn file
        if state is not None:
            seen.add(state.version)
    writer.join(timeout=60)
    queue.get(timeout=60)
    assert max(seen) <= 200 and store.read().version == 200


def test_a_room_file_that_is_not_one_is_refused_by_name(store):
    store.path.write_text(json.dumps({"version": "seven"}))
    with pytest.raises(ValueError, match="room.json is not a room file"):
        store.read()


@pytest.mark.parametrize("given", ["not-it", "", None, ["tok"], 12])
def test_only_the_exact_token_is_the_presenter(tmp_path, given):
    room = Workshop.create(tmp_path)
    assert token_matches(room.token, room.token) and room.is_presenter({"presenter": room.token})
    assert not token_matches(given, room.token)
    assert not room.is_presenter({"presenter": given} if given is not None else {})
    assert len(room.token) >= 32 and Workshop.create(tmp_path).token != room.token


def test_the_poller_passes_a_new_version_once_to_following_sessions_only(store, monkeypatch):
    poller = RoomPoller(store)
    docs = [FakeDoc(), FakeDoc(), FakeDoc()]
    got = {index: [] for index in range(3)}
    members = [Member(doc, receive=got[index].append) for index, doc in enumerate(docs)]
    members[2].following = False
    for member in members:
        poller.join(member)
    poller.tick()
    assert [doc.run() for doc in docs] == [0, 0, 0]  # nothing published yet
    store.publish({"view": "mine"})
    poller.tick()
    assert [doc.run() for doc in docs] == [1, 1, 0]
    assert got[0][0].query == {"view": "mine"} and got[0][0].version == 1
    reads = []
    monkeypatch.setattr(store, "read", lambda: reads.append(1))
    poller.tick()  # the file did not change: it is not even read
    assert reads == [] and [doc.run() for doc in docs] == [0, 0, 0]


def test_the_poller_writes_this_workers_count_and_shows_presenters_the_total(store):
    ours, theirs = RoomPoller(store, pid=os.getpid()), RoomPoller(store, pid=os.getppid())
    for poller, alone in ((ours, False), (theirs, True), (theirs, False)):
        member = Member(FakeDoc(), receive=lambda state: None)
        member.following = not alone
        poller.join(member)
    theirs.tick()
    shown, doc = [], FakeDoc()
    ours.join(Member(doc, show_counts=shown.append))
    ours.tick()
    doc.run()
    assert shown == [Counts(following=2, alone=1)]
    store.write_count(2**22 + 12345, Counts(following=9))  # a worker that has ended
    assert store.counts() == Counts(following=2, alone=1)


def test_a_session_that_lost_its_connection_is_not_counted(store):
    poller = RoomPoller(store)
    member = Member(FakeDoc(), receive=lambda state: None)
    poller.join(member)
    assert poller.local_counts() == Counts(following=1)
    member.connected = lambda: False
    assert poller.local_counts() == Counts()
    poller.leave(member)
    member.connected = lambda: True
    assert poller.local_counts() == Counts()


# --------------------------------------------------------------------------- pages
def _apps(tiny_pack):
    from explorer.app.main import ExplorerApp

    presenter = ExplorerApp({"pack": tiny_pack, "view": "analogy"}, seed=0)
    participant = ExplorerApp({"pack": tiny_pack}, seed=1)
    return presenter, participant


def test_a_participant_shows_the_presenters_view_corners_and_latent(tiny_pack):
    from explorer.app.presenter import apply_link

    presenter, participant = _apps(tiny_pack)
    analogy = presenter.views["analogy"].state
    analogy.pick(int(presenter.resources.ids[5]))
    assert apply_link(participant, presenter.link_query()) is None
    shown = participant.views["analogy"].state
    assert participant.session.view == "analogy"
    assert participant.tabs.active == participant.registry.index("analogy")
    assert shown.corners == analogy.corners and shown.image == analogy.image
    np.testing.assert_allclose(participant.session.latent, presenter.session.latent, atol=1e-2)
    assert participant.link_query() == presenter.link_query()


def test_following_again_and_again_does_not_pile_up_watchers(tiny_pack):
    from explorer.app.presenter import apply_link

    presenter, participant = _apps(tiny_pack)
    apply_link(participant, presenter.link_query())
    watchers = sum(len(w) for what in participant.session.param.watchers.values() for w in what.values())
    for position in range(3):
        presenter.views["analogy"].state.pick(int(presenter.resources.ids[position]))
        apply_link(participant, presenter.link_query())
    assert sum(len(w) for what in participant.session.param.watchers.values() for w in what.values()) == watchers


def test_a_link_to_another_pack_asks_for_that_packs_page_and_changes_nothing_here(tiny_pack, tiny_pack_env,
                                                                                  tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    from explorer.app.presenter import apply_link

    root = Path(tiny_pack_env["LATENT_EXPLORER_ASSETS"]).parent
    for kind in ("assets", "indexes"):
        shutil.copytree(root / kind / tiny_pack, tmp_path / kind / tiny_pack)
        shutil.copytree(root / kind / tiny_pack, tmp_path / kind / "other")
    monkeypatch.setenv("LATENT_EXPLORER_ASSETS", str(tmp_path / "assets"))
    monkeypatch.setenv("LATENT_EXPLORER_INDEXES", str(tmp_path / "indexes"))
    presenter, participant = _apps(tiny_pack)
    before = participant.link_query()
    href = apply_link(participant, {**presenter.link_query(), "pack": "other"})
    assert href.startswith("?pack=other&view=analogy")
    assert participant.link_query() == before


def test_a_participant_on_their_own_ignores_the_room_until_they_follow_again(tiny_pack, store):
    from explorer.app.presenter import ParticipantBar

    presenter, participant = _apps(tiny_pack)
    bar = ParticipantBar(participant, RoomPoller(store))
    bar.set_following(False)
    assert participant.url_extras == {"follow": "no"}
    store.publish(presenter.link_query())
    bar.receive(store.read())
    assert participant.session.view == "explore"
    bar.set_following(True)
    assert participant.session.view == "analogy" and participant.url_extras == {}


def test_the_token_opens_the_presenters_bar_and_anything_else_a_participants(tiny_pack, store, tmp_path):
    from explorer.app.main import ExplorerApp
    from explorer.app.presenter import ParticipantBar, PresenterBar, workshop_bar

    room = Workshop(store.folder, "the-token")
    poller = RoomPoller(store)
    app = ExplorerApp({"pack": tiny_pack}, seed=0)
    assert isinstance(workshop_bar(app, room, poller, {"presenter": "the-token"}), PresenterBar)
    assert app.url_extras == {"presenter": "the-token"}
    assert "presenter=the-token" in app.link_writer.query and "the-token" not in app.link_anchor.object
    for query in ({"presenter": "the-tokeN"}, {}, {"follow": "no"}):
        assert isinstance(workshop_bar(ExplorerApp({"pack": tiny_pack}, seed=0), room, poller, query), ParticipantBar)


def test_the_presenters_page_publishes_its_link_and_a_participants_never_does(tiny_pack, store):
    from explorer.app.presenter import ParticipantBar, PresenterBar

    presenter, participant = _apps(tiny_pack)
    bar = PresenterBar(presenter, Workshop(store.folder, "t"), RoomPoller(store))
    bar.publish()
    presenter.views["analogy"].state.pick(int(presenter.resources.ids[7]))
    assert store.read().query == presenter.link_query() and store.read().version == 2
    follower = ParticipantBar(participant, RoomPoller(store))
    follower.receive(store.read())
    participant.views["analogy"].state.pick(int(participant.resources.ids[9]))
    follower.set_following(False)
    follower.set_following(True)
    assert store.read().version == 2


def test_every_view_says_why_to_look_at_it_above_the_view(tiny_pack):
    from explorer.app.main import ExplorerApp
    from explorer.app.views import VIEWS

    app = ExplorerApp({"pack": tiny_pack}, seed=0)
    for spec in VIEWS:
        assert 40 <= len(spec.why) <= 500, spec.name
        app.build(spec.name)
        card = app._containers[spec.name].objects[0]
        assert card.collapsible and not card.collapsed and card.objects[0].object == spec.why


def test_serve_workshop_makes_a_private_room_before_the_workers_fork():
    import shutil
    import signal

    from explorer.app import workshop as room_module
    from explorer.cli import build_parser
    from explorer.commands import serve

    assert build_parser().parse_args(["serve", "--workshop"]).workshop
    assert not build_parser().parse_args(["serve"]).workshop
    previous = signal.getsignal(signal.SIGTERM)
    room = None
    try:
        room = serve._open_room()
        assert room_module.workshop() is room and room_module.poller().store.folder == room.folder
        assert (room.folder / "followers").is_dir() and room.folder.stat().st_mode & 0o077 == 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        room_module.configure_workshop(None)
        if room is not None:
            shutil.rmtree(room.folder)


def test_a_worker_outliving_the_server_does_not_make_the_removed_run_folder_again(store):
    import shutil

    poller = RoomPoller(store)
    poller.join(Member(FakeDoc(), receive=lambda state: None))
    shutil.rmtree(store.folder)
    poller.tick()
    assert not store.folder.exists()
