"""CAD incident JSON modelled on NENA EIDO (110, 119, 120, 122): one object per version."""

from __future__ import annotations

import hashlib
from typing import Any

from feeds.simulator.cases import Case
from feeds.simulator.formats.common import note, position
from feeds.simulator.simtime import iso

CAD_STATUS = {
    "reported": "Created", "acknowledged": "Acknowledged", "dispatched": "Dispatched",
    "enroute": "Enroute", "onscene": "OnScene", "cleared": "Cleared", "closed": "Closed",
    "cancelled": "Cancelled", "reopened": "Reopened",
}
UNIT_STATUS = {"dispatched": "Dispatched", "enroute": "Enroute", "onscene": "OnScene",
               "reopened": "Dispatched", "cleared": "Available", "closed": "Available"}


def eido(case: Case, i: int, datum: str) -> dict[str, Any]:
    step = case.steps[i]
    lat, lon = position(case, datum)
    msg_id = hashlib.blake2b(f"{case.no}|{i}".encode(), digest_size=8).hexdigest()
    doc: dict[str, Any] = {
        "eidoMessageIdentifier": f"m-{msg_id}",
        "lastUpdateTimeStamp": iso(step.at),
        "incidentComponent": {
            "incidentTrackingIdentifier": case.no,
            "incidentTypeCommonRegistryText": case.ctype.code,
            "incidentTypeDescription": case.ctype.name,
            "incidentStatusCommonRegistryText": CAD_STATUS[step.stage],
            "incidentPriority": case.priority,
            "incidentCreationTimeStamp": iso(case.created),
        },
        "locationComponent": [{
            "locationByValue": {"type": "Point", "coordinates": [lon, lat]},
            "civicAddressText": case.place.address,
            "districtCode": case.place.adcode,
            "townCode": case.place.town,
            "gridCode": case.place.grid,
        }],
        "callComponent": [{"callerName": case.person.name, "callbackNumber": case.person.phone}],
        "emergencyResourceComponent": _units(case, i),
        "notesComponent": [{"noteText": case.text}] + [
            {"noteText": note(case, s), "noteTimeStamp": iso(s.at)} for s in case.steps[1: i + 1]],
        "agencyComponent": {"agencyName": case.department},
    }
    return doc


def _units(case: Case, i: int) -> list[dict[str, str]]:
    stage = next((s.stage for s in reversed(case.steps[: i + 1]) if s.stage in UNIT_STATUS), None)
    if stage is None:
        return []
    return [{"unitIdentifier": uid, "unitType": kind, "unitStatus": UNIT_STATUS[stage]}
            for uid, kind in case.extra["units"]]
