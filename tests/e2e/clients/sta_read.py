"""Reads a datastream's observations back with FROST's own Python client
(frost_sta_client, from PyPI), following @iot.nextLink page by page, with and without a
$filter. Prints what it read as JSON for the Rust test to compare with what it wrote.

Usage: sta_read.py SERVICE_URL DATASTREAM_ID FILTER
"""
import json
import sys

import frost_sta_client as fsc

url, datastream_id, statement = sys.argv[1], int(sys.argv[2]), sys.argv[3]
service = fsc.SensorThingsService(url)
datastream = service.datastreams().find(datastream_id)
every = datastream.get_observations().query().top(25).orderby("phenomenonTime", "ASC").list()
filtered = datastream.get_observations().query().filter(statement).top(25).list()
print(json.dumps({
    "datastream": datastream.name,
    "unit": getattr(datastream.unit_of_measurement, "symbol", None) or datastream.unit_of_measurement["symbol"],
    "all": [[o.id, o.result] for o in every],
    "filtered": sorted(o.id for o in filtered),
}))
