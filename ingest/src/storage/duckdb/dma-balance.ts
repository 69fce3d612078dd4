/**
 * The water balance of each district metered area over a time range, from the embedded store (one
 * aggregate query, on the API's read pool): what the customer meters used, what the inlet (bulk) meter
 * let in, non-revenue water (domain notes: inlet − sum of customer meters), night flow and leaks.
 *
 * A DMA's inlet meter is a water meter provisioned with `site: "dma-inlet"` (dashboards/README.md).
 */
import type { SqlReader } from './database.js';

export const DMA_INLET_SITE = 'dma-inlet';
/** Minimum night flow window, 02:00–04:00 Japan time (UTC+9) (domain notes). */
const NIGHT_HOURS_JST = [2, 3];

export interface DmaMeter {
  id: string;
  dma: string;
  inlet: boolean;
}

export interface DmaBalance {
  dma: string;
  /** Customer meters provisioned in the DMA, and how many of them reported in the range. */
  meters: number;
  reporting: number;
  /** Litres the customer meters used in the range (each meter's index spread). */
  customerLitres: number;
  /** Litres through the inlet meter(s); null without one. */
  inletLitres: number | null;
  /** inlet − customers; null without an inlet meter. */
  nonRevenueLitres: number | null;
  nonRevenuePct: number | null;
  /** Sum of the customer meters' mean flow in the night window(s) of the range (L/h); null without night readings. */
  nightFlowLph: number | null;
  /** Meters whose latest alarm flags include leak. */
  leaks: number;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function dmaBalance(db: SqlReader, meters: readonly DmaMeter[], from: number, to: number): Promise<DmaBalance[]> {
  if (meters.length === 0) return [];
  const devices = JSON.stringify(meters.map((m) => ({ device_id: m.id, dma: m.dma, inlet: m.inlet })));
  const sql = `
    WITH d AS (SELECT unnest(from_json($1::JSON, '[{"device_id":"VARCHAR","dma":"VARCHAR","inlet":"BOOLEAN"}]'), recursive := true)),
    m AS (
      SELECT s.device_id,
        max(s."indexL") - min(s."indexL") AS litres,
        avg(s."flowLph") FILTER (WHERE hour(s.ts + INTERVAL 9 HOUR) IN (${NIGHT_HOURS_JST.join(', ')})) AS night_lph,
        coalesce(list_contains(arg_max(s.alarms, s.ts) FILTER (WHERE s.alarms IS NOT NULL), 'leak'), false) AS leak
      FROM samples_water_meter s
      WHERE s.device_id IN (SELECT device_id FROM d) AND s.ts >= epoch_ms($2::BIGINT) AND s.ts < epoch_ms($3::BIGINT)
      GROUP BY s.device_id)
    SELECT d.dma,
      count(*) FILTER (WHERE NOT d.inlet) AS meters,
      count(m.device_id) FILTER (WHERE NOT d.inlet) AS reporting,
      coalesce(sum(m.litres) FILTER (WHERE NOT d.inlet), 0) AS customer_litres,
      count(*) FILTER (WHERE d.inlet) AS inlets,
      sum(m.litres) FILTER (WHERE d.inlet) AS inlet_litres,
      sum(m.night_lph) FILTER (WHERE NOT d.inlet) AS night_lph,
      count(*) FILTER (WHERE m.leak) AS leaks
    FROM d LEFT JOIN m USING (device_id) GROUP BY d.dma ORDER BY d.dma`;
  const rows = await db.all(sql, [devices, from, to]);
  return rows.map((r) => {
    const customerLitres = num(r.customer_litres) ?? 0;
    const inletLitres = Number(r.inlets) > 0 ? (num(r.inlet_litres) ?? 0) : null;
    const nonRevenueLitres = inletLitres === null ? null : inletLitres - customerLitres;
    const night = num(r.night_lph);
    return {
      dma: String(r.dma),
      meters: Number(r.meters),
      reporting: Number(r.reporting),
      customerLitres,
      inletLitres,
      nonRevenueLitres,
      nonRevenuePct: nonRevenueLitres === null || !inletLitres ? null : Math.round((nonRevenueLitres / inletLitres) * 1000) / 10,
      nightFlowLph: night === null ? null : Math.round(night * 10) / 10,
      leaks: Number(r.leaks),
    };
  });
}
