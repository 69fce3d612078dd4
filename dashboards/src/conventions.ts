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
 * Minimum night flow window, 02:00–04:00 Japan time (UTC+9). InfluxQL cannot filter by hour of day, so
 * night flow is the day's lowest 2-hour DMA flow on 2-hour buckets offset by 1 h, which makes them start
 * at even hours JST (02:00–04:00 is one of them).
 */
export const NIGHT_BUCKET = 'time(2h, 1h)';
/** Nights averaged into the baseline the night flow is compared with. */
export const BASELINE_NIGHTS = 7;
