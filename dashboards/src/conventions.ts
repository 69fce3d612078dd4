/** Conventions the dashboards rely on, beyond the InfluxDB schema itself (dashboards/README.md). */

/** Alerts changed within this window are considered; an alert untouched for longer drops off the panels. */
export const ALERT_WINDOW = '30d';

/** The welfare watch (見守り) rule: its alerts stay out of Grafana, whose viewers are not checked for welfare access. */
export const WELFARE_RULE = 'welfare-watch';

/**
 * A DMA's inlet (bulk) meter is a `water-meter` provisioned with attributes `{ dma, site: "dma-inlet" }`;
 * every other meter of the DMA is a customer meter. Non-revenue water = inlet volume − customer volume.
 */
export const DMA_INLET_SITE = 'dma-inlet';

/** A device with a point in this window counts as reporting. */
export const REPORTING_WINDOW = '30m';

/** Where Grafana serves the site gazetteer (mounted by docker-compose.yml); the geomap looks sites up in it. */
export const GAZETTEER_PATH = 'public/gazetteer/tsunagaru-sites.json';

/**
 * Minimum night flow, the ingest's definition (ingest/src/water/night-flow.ts): the inlet's lowest
 * interval flow in 02:00–04:00 JST, less a share of the customers' night consumption. InfluxQL cannot
 * filter by hour of day, so: volumes per 15 minutes (the difference of each meter's last index, carried by
 * the quarter they end in), 2-hour buckets offset by 75 min (UTC), so that one holds the quarters ending
 * 02:15…04:00 JST, i.e. the water of 02:00–04:00, and daily buckets starting 02:15 JST whose first
 * 2-hour bucket is that one. An inlet read every 15 min (or more often) gives the ingest's figure.
 */
export const QUARTER = 'time(15m)';
export const NIGHT_BUCKET = 'time(2h, 75m)';
export const NIGHT_DAY = 'time(1d, 1035m)';
