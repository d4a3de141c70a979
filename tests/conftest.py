"""Fixtures for every test: imported packs go to a temporary user data folder, never the real one."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def user_home(tmp_path_factory):
    """$LATENT_EXPLORER_HOME for the whole session (servers started by tests inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("latent-explorer-home")
        patch.setenv("LATENT_EXPLORER_HOME", str(home))
        yield home
