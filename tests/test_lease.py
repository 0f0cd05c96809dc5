import time

from dashboard.contract.lease import Leases


def test_one_holder_and_takeover(r, keys):
    a = Leases(r, keys, "a", ttl_s=0.5)
    b = Leases(r, keys, "b", ttl_s=0.5)
    assert a.refresh(["110", "12345"]) == {"110", "12345"}
    assert b.refresh(["110", "12345"]) == set()
    assert a.holds("110") and not b.holds("110")
    # a stops renewing (dies): b takes over once the lease expires
    time.sleep(0.6)
    assert b.refresh(["110"]) == {"110"}
    assert a.refresh(["110"]) == set() and not a.holds("110")


def test_release(r, keys):
    a = Leases(r, keys, "a", ttl_s=30)
    b = Leases(r, keys, "b", ttl_s=30)
    a.refresh(["tf"])
    a.release_all()
    assert b.refresh(["tf"]) == {"tf"}
