#!/usr/bin/env python3
"""Tile lists and tile sizes for `scripts/bench tiles`.

  tile_bench.py list URL OUT      parcel tiles z14-z18 that hold parcels (1000 per zoom,
                                  seeded sample), one "z/x/y" per line
  tile_bench.py sizes URL BASE    largest `all` tile per zoom z8-z18 served at BASE: every
                                  tile over the service area up to z13, every tile holding a
                                  parcel from z14 (markdown table on stdout)
  tile_bench.py median DIR OUT     the tile under DIR (written by dump) whose size is the
                                  median, copied to OUT ("path bytes" on stdout)
  tile_bench.py dump TEMPLATE LIST DIR
                                  every tile of LIST fetched from TEMPLATE (a URL), written
                                  under DIR at its URL's path (for examples/fixed_answer.rs);
                                  prints the mean size in bytes
  tile_bench.py features TEMPLATE LIST LAYER
                                  mean features of LAYER per tile by zoom, over the tiles of LIST
                                  fetched from TEMPLATE (a URL with {z}/{x}/{y}): "zoom mean" lines
URL is the PostGIS database (psql connection string).
"""
import concurrent.futures
import math
import os
import random
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request


def world(lon, lat):
    lat = math.radians(lat)
    return (lon + 180.0) / 360.0, (1.0 - math.asinh(math.tan(lat)) / math.pi) / 2.0


def tile_of(lon, lat, z):
    wx, wy = world(lon, lat)
    n = 1 << z
    return z, min(int(wx * n), n - 1), min(int(wy * n), n - 1)


def psql(url, sql):
    out = subprocess.run(["psql", "-qtA", "-F", " ", url, "-c", sql], check=True, capture_output=True, text=True)
    return [line.split() for line in out.stdout.splitlines() if line]


def parcel_tiles(url, zooms):
    points = psql(url, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM parcel_version WHERE valid_to IS NULL) s")
    tiles = {z: set() for z in zooms}
    for lon, lat in points:
        for z in zooms:
            tiles[z].add(tile_of(float(lon), float(lat), z))
    return tiles


def fetch_size(base, tile):
    z, x, y = tile
    with urllib.request.urlopen(f"{base}/tiles/all/{z}/{x}/{y}.mvt") as response:
        return tile, len(response.read())


def fields(buf):
    """The length-delimited fields of a protobuf message, as (number, bytes); others skipped."""
    out, i = [], 0

    def varint():
        nonlocal i
        value = shift = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(buf):
        key = varint()
        wire = key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length = varint()
            out.append((key >> 3, buf[i:i + length]))
            i += length
        else:
            raise ValueError(f"wire type {wire}")
    return out


def layer_features(mvt, name):
    """How many features the layer `name` of an MVT tile holds."""
    for number, layer in fields(mvt):
        if number == 3:
            parts = fields(layer)
            if (1, name.encode()) in parts:
                return sum(1 for n, _ in parts if n == 2)
    return 0


def fetch_features(template, tile, layer):
    with urllib.request.urlopen(template.replace("{z}/{x}/{y}", tile)) as response:
        return int(tile.split("/")[0]), layer_features(response.read(), layer)


def main():
    what = sys.argv[1]
    if what == "features":
        template, tiles, layer = sys.argv[2], open(sys.argv[3]).read().split(), sys.argv[4]
        counts = {}
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for z, n in pool.map(lambda t: fetch_features(template, t, layer), tiles):
                counts.setdefault(z, []).append(n)
        for z in sorted(counts):
            print(z, f"{sum(counts[z]) / len(counts[z]):.0f}")
        return
    if what == "dump":
        template, tiles, root = sys.argv[2], open(sys.argv[3]).read().split(), sys.argv[4]

        def dump(tile):
            url = template.replace("{z}/{x}/{y}", tile)
            with urllib.request.urlopen(url) as response:
                body = response.read()
            path = os.path.join(root, urllib.parse.urlsplit(url).path.lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(body)
            return len(body)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            sizes = list(pool.map(dump, tiles))
        print(f"{sum(sizes) / len(sizes):.0f}")
        return
    if what == "median":
        root, out = sys.argv[2], sys.argv[3]
        files = sorted((os.path.getsize(p), p) for p in (os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs))
        size, path = files[len(files) // 2]
        shutil.copyfile(path, out)
        print(os.path.relpath(path, root), size)
        return
    url = sys.argv[2]
    if what == "list":
        tiles = parcel_tiles(url, range(14, 19))
        rng = random.Random(14)
        chosen = []
        for z in range(14, 19):
            pool = sorted(tiles[z])
            chosen += rng.sample(pool, min(1000, len(pool)))
        rng.shuffle(chosen)
        with open(sys.argv[3], "w") as out:
            out.writelines(f"{z}/{x}/{y}\n" for z, x, y in chosen)
        print(f"{len(chosen)} tiles z14-z18", file=sys.stderr)
    elif what == "sizes":
        base = sys.argv[3]
        (w, s, e, n), = [tuple(map(float, r)) for r in psql(url,
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(geom) b FROM admin_unit WHERE in_service_area) t")]
        per_zoom = {}
        for z in range(8, 14):
            _, x0, y0 = tile_of(w, n, z)
            _, x1, y1 = tile_of(e, s, z)
            per_zoom[z] = {(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
        per_zoom.update(parcel_tiles(url, range(14, 19)))
        print("| zoom | tiles fetched | largest tile (bytes) | which | mean bytes |")
        print("|---|---|---|---|---|")
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for z in sorted(per_zoom):
                sizes = list(pool.map(lambda t: fetch_size(base, t), sorted(per_zoom[z])))
                tile, largest = max(sizes, key=lambda s: s[1])
                mean = sum(s for _, s in sizes) / len(sizes)
                print(f"| {z} | {len(sizes)} | {largest} | {'/'.join(map(str, tile))} | {mean:.0f} |", flush=True)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
