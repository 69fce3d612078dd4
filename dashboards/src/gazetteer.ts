/**
 * The geomap's gazetteer: sites and islands (sites.yaml) in Grafana's "worldmap" lookup format
 * (`[{ key, latitude, longitude, name }]`), so a panel can place rows by their `site` tag.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DashboardError } from './errors.js';

export interface Place {
  name: string;
  lat: number;
  lon: number;
}

export interface Places {
  sites: Record<string, Place>;
  islands: Record<string, Place>;
}

export const SITES_FILE = new URL('../sites.yaml', import.meta.url);

function checkPlace(where: string, p: unknown): Place {
  const v = p as Partial<Place> | null;
  if (!v || typeof v.name !== 'string' || typeof v.lat !== 'number' || typeof v.lon !== 'number' || Math.abs(v.lat) > 90 || Math.abs(v.lon) > 180) {
    throw new DashboardError('DASH_ERR_GAZETTEER', `sites.yaml: ${where} needs name, lat (−90…90) and lon (−180…180)`);
  }
  return { name: v.name, lat: v.lat, lon: v.lon };
}

export function loadPlaces(text = readFileSync(SITES_FILE, 'utf8')): Places {
  const doc = (parse(text) ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const section = (key: 'sites' | 'islands') => Object.fromEntries(Object.entries(doc[key] ?? {}).map(([k, p]) => [k, checkPlace(`${key}.${k}`, p)]));
  return { sites: section('sites'), islands: section('islands') };
}

export interface WorldmapPoint {
  key: string;
  name: string;
  latitude: number;
  longitude: number;
}

/** Sites then islands, each sorted by key (deterministic output). */
export function gazetteer(places: Places): WorldmapPoint[] {
  const points = (r: Record<string, Place>) =>
    Object.keys(r)
      .sort()
      .map((key) => ({ key, name: r[key]!.name, latitude: r[key]!.lat, longitude: r[key]!.lon }));
  return [...points(places.sites), ...points(places.islands)];
}
