/** Every error the dashboards package raises, in the template of all packages (firmware-contracts CodedError). */
import { CodedError, type CodedErrorInit } from '@tsunagaru/firmware-contracts';

export type DashboardErrorCode =
  /** A query names a measurement, field, tag or code the InfluxDB schema does not have. */
  | 'DASH_ERR_SCHEMA'
  /** A query is not InfluxQL the checker can read. */
  | 'DASH_ERR_INFLUXQL'
  /** The gazetteer (sites.yaml) has an entry without a name or a position. */
  | 'DASH_ERR_GAZETTEER';

export class DashboardError extends CodedError<DashboardErrorCode> {
  override readonly name: string = 'DashboardError';

  /** Nothing here heals by retrying: the dashboards or their data files need a fix. */
  constructor(code: DashboardErrorCode, message: string, init: CodedErrorInit = {}) {
    super(code, message, false, init);
  }
}
