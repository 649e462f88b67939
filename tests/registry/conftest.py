import pytest


@pytest.fixture
def network(shared_network):
    """Every test here runs in a transaction: one network per module is enough (and fast)."""
    return shared_network
