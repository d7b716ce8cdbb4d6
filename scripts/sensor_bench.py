"""Sensor benchmark (./scripts/bench sensors): ingest throughput over HTTP (CreateObservations
batches) and MQTT (mosquitto_pub -l, QoS 1), lookup latency with and without an ingest burst
(wrk, same duration), and alert latency from a published reading to its Server-Sent Event.

Usage: sensor_bench.py BASE_URL ADMIN_TOKEN DIABA_BIN DATA_DIR MQTT_PORT DB_URL
Prints a markdown report. Python standard library only; wrk and mosquitto_pub from Debian.
"""
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

base, admin, binary, data_dir, mqtt_port, db_url = sys.argv[1:7]
SECONDS = 15
random.seed(7)


def call(method, path, body=None, token=admin):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def create(path, body):
    return call("POST", f"/sta/v1.1/{path}", body)["@iot.id"]


def iso(t):
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def psql(sql):
    return subprocess.run(["psql", "-qtA", db_url, "-c", sql], capture_output=True, text=True, check=True).stdout.strip()


# ---- a synthetic gauge station with four datastreams, one under the flood rule ----------
location = create("Locations", {"name": "bench site (synthetic)", "location": {"type": "Point", "coordinates": [105.7884, 10.0339]}})
thing = create("Things", {"name": "bench gauge (synthetic)", "Locations": [{"@iot.id": location}]})
sensor = create("Sensors", {"name": "bench sensor (synthetic)"})
prop = create("ObservedProperties", {"name": "Water level", "definition": "https://example.invalid/level"})
streams = [
    create("Datastreams", {"name": f"bench stream {i} (synthetic)", "unitOfMeasurement": {"name": "metre", "symbol": "m"},
                           "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensor}, "ObservedProperty": {"@iot.id": prop},
                           "properties": {"measurementRange": [-1.0, 4.0]}})
    for i in range(4)
]
call("PUT", "/v1/flood/rules/tidal-peak/3", {"datastream": streams[0], "threshold": 1.9})
token = subprocess.run([binary, "user", "add", "--data-dir", data_dir, "--role", "sensor", "--datastreams",
                        ",".join(map(str, streams)), "bench-gauge"], capture_output=True, text=True, check=True).stdout.strip()


def wrk(seconds):
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", "/tmp/diaba-lookup.lua", base],
                         capture_output=True, text=True, check=True).stdout
    p99 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("99%"))
    rate = next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    return p99, rate


# ---- HTTP: CreateObservations of 1 000 readings, 8 senders, for SECONDS -----------------
def http_burst(counter, deadline, pace=None):
    """Sends batches until `deadline`; with `pace`, one batch per `pace` seconds at most."""
    now = datetime.now(timezone.utc)
    while time.time() < deadline:
        began = time.time()
        stream = random.choice(streams[1:3])
        rows = [[iso(now - timedelta(seconds=random.uniform(0, 86_400))), round(random.uniform(0.3, 2.2), 3)] for _ in range(1000)]
        links = call("POST", "/sta/v1.1/CreateObservations",
                     [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"], "dataArray": rows}], token)
        counter.append(sum(1 for link in links if link != "error"))
        if pace:
            time.sleep(max(0.0, pace - (time.time() - began)))


def run_senders(senders, pace=None):
    """Observations stored per second by `senders` threads for SECONDS, and lookup (p99, rate) meanwhile."""
    counter = []
    deadline = time.time() + SECONDS
    threads = [threading.Thread(target=http_burst, args=(counter, deadline, pace)) for _ in range(senders)]
    started = time.time()
    for t in threads:
        t.start()
    lookups = wrk(SECONDS)
    for t in threads:
        t.join()
    return sum(counter) / (time.time() - started), lookups


baseline = wrk(SECONDS)
# Flat out (8 senders), then at the rate (25 000/s: 5 senders, a batch each 0.2 s).
flat_rate, flat_lookups = run_senders(8)
paced_rate, paced_lookups = run_senders(5, pace=0.2)

# ---- MQTT: 5 gateways at 5 000 readings/s each for 5 s, QoS 1 ----------------------------
# Paced, as gateways publish: one mosquitto_pub fed flat out from a file was disconnected
# by mosquitto itself ("out of memory") a third of the way through 100 000 messages.
GATEWAYS, PER_SECOND, BURST_SECONDS = 5, 5_000, 5
N = GATEWAYS * PER_SECOND * BURST_SECONDS
topic = f"v1.1/Datastreams({streams[3]})/Observations"


def gateway(g):
    publisher = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", mqtt_port, "-q", "1", "-l", "-t", topic],
                                 stdin=subprocess.PIPE, text=True)
    now = datetime.now(timezone.utc)
    for tick in range(BURST_SECONDS * 10):
        began = time.time()
        chunk = "".join(json.dumps({"phenomenonTime": iso(now - timedelta(seconds=(tick * 1000 + i) * 0.01 + g)),
                                    "result": round(random.uniform(0.3, 2.2), 3)}) + "\n" for i in range(PER_SECOND // 10))
        publisher.stdin.write(chunk)
        publisher.stdin.flush()
        time.sleep(max(0.0, 0.1 - (time.time() - began)))
    publisher.stdin.close()
    publisher.wait()


mqtt_wrk = {}
watcher = threading.Thread(target=lambda: mqtt_wrk.update(zip(("p99", "rate"), wrk(SECONDS))))
watcher.start()
started = time.time()
gateways = [threading.Thread(target=gateway, args=(g,)) for g in range(GATEWAYS)]
for g in gateways:
    g.start()
for g in gateways:
    g.join()
published_in = time.time() - started
stored, last_change, last_count = 0, time.time(), -1
while time.time() - started < 120 and stored < N:
    stored = int(psql(f"SELECT count(*) FROM sta_observation WHERE datastream_id = {streams[3]}"))
    if stored != last_count:
        last_change, last_count = time.time(), stored
    elif time.time() - last_change > 10:
        break  # nothing new for 10 s: the rest was lost on the way
    time.sleep(0.1)
mqtt_seconds = last_change - started
watcher.join()

# ---- alert latency: a reading over MQTT to its first SSE alert, 40 flips ----------------
alerts = []
ready = threading.Event()


def listen():
    with urllib.request.urlopen(base + "/v1/flood/live/events", timeout=600) as stream:
        ready.set()
        for raw in stream:
            line = raw.decode().strip()
            if line.startswith("data: "):
                alerts.append((time.time(), json.loads(line[6:])))


threading.Thread(target=listen, daemon=True).start()
ready.wait(10)
latencies = []
for flip in range(40):
    level, wanted = (2.1, "flooded") if flip % 2 == 0 else (1.0, "dry")
    seen = len(alerts)
    sent = time.time()
    body = json.dumps({"phenomenonTime": iso(datetime.now(timezone.utc)), "result": level})
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", mqtt_port, "-q", "1", "-t",
                    f"v1.1/Datastreams({streams[0]})/Observations", "-m", body], check=True)
    while time.time() - sent < 10:
        arrived = [a for a in alerts[seen:] if a[1]["to"] == wanted]
        if arrived:
            latencies.append(arrived[0][0] - sent)
            break
        time.sleep(0.002)
    time.sleep(0.4)  # the flip's other zones' alerts drain before the next one


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else [float("nan")] * 99
print(f"| ingest over HTTP, flat out (CreateObservations of 1 000, 8 senders, {SECONDS} s) | {flat_rate:,.0f} observations/s; lookup p99 meanwhile {flat_lookups[0]} ({flat_lookups[1]} req/s) |")
print(f"| ingest over HTTP at the target rate (5 senders, a batch of 1 000 each 0.2 s) | {paced_rate:,.0f} observations/s; lookup p99 meanwhile {paced_lookups[0]} ({paced_lookups[1]} req/s) |")
print(f"| ingest over MQTT above the target rate (5 gateways × 5 000 readings/s for {BURST_SECONDS} s, QoS 1; published in {published_in:.1f} s) | {stored / mqtt_seconds:,.0f} observations/s stored ({stored:,} of {N:,} in {mqtt_seconds:.1f} s) |")
print(f"| alert latency, reading published → first SSE alert ({len(latencies)} flips of 12 zones) | p50 {ms(statistics.median(latencies))}, p99 {ms(q[98])}, max {ms(max(latencies))} |")
print(f"| GET /v1/lookup p99 (wrk 2 threads, 16 connections, {SECONDS} s): no ingest / during the MQTT burst | {baseline[0]} / {mqtt_wrk.get('p99', '?')} ({baseline[1]} / {mqtt_wrk.get('rate', '?')} req/s) |")
