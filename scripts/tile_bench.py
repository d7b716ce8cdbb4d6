#!/usr/bin/env python3
"""Tile lists and tile sizes for `scripts/bench tiles`.

  tile_bench.py list URL OUT      parcel tiles z14-z18 that hold parcels (1000 per zoom,
                                  seeded sample), one "z/x/y" per line
  tile_bench.py sizes URL BASE    largest `all` tile per zoom z8-z18 served at BASE: every
                                  tile over the service area up to z13, every tile holding a
                                  parcel from z14 (markdown table on stdout)
URL is the PostGIS database (psql connection string).
"""
import concurrent.futures
import math
import random
import subprocess
import sys
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


def main():
    what, url = sys.argv[1], sys.argv[2]
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
