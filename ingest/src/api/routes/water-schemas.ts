/** JSON Schemas of the water answers (routes/water.ts), field by field as ingest/src/water returns them. */
const n = { type: 'number' } as const;
const nn = { type: ['number', 'null'] } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const str = { type: 'string' } as const;

const obj = (properties: Record<string, object>, description?: string, required = Object.keys(properties)) =>
  ({ type: 'object', additionalProperties: false, required, properties, ...(description ? { description } : {}) }) as const;

export const balanceSchema = obj(
  {
    dma: str, from: int, to: int,
    connections: { ...int, description: 'customer meters enrolled in the DMA' },
    covered: { ...int, description: 'customer meters with readings around both ends (interpolated)' },
    estimated: { ...int, description: 'customer meters estimated from one side (silent or late), at their mean flow' },
    missing: { ...int, description: 'customer meters with no reading within reach: their use is unknown, not zero' },
    coveragePct: n,
    customerLitres: n,
    estimatedLitres: n,
    estimatedPct: { ...n, description: 'share of the customer volume that is estimated' },
    inletMeters: int,
    inletLitres: { ...nn, description: 'null without an inlet meter or without its readings' },
    inletCovered: bool,
    nonRevenueLitres: nn,
    nonRevenuePct: nn,
    rollovers: int,
    resets: int,
    complete: { ...bool, description: 'coverage at least water.balance.minCoveragePct and the inlet covered' },
    incomplete: { type: 'array', items: str, description: 'why the figure is not complete, in words' },
  },
  'A DMA water balance: inlet − customers, from registers interpolated at the ends',
);

export const nightSchema = obj(
  {
    dma: str, date: str, from: int, to: int, connections: int, covered: int, coveragePct: n,
    pending: { type: 'array', items: str, description: 'meters whose data does not reach the end of the window yet' },
    inletMinFlowLph: { ...nn, description: "the inlet's lowest flow between two readings inside the window" },
    customerNightFlowLph: n,
    legitimateUseLph: n,
    mnfLph: { ...nn, description: 'minimum night flow: inlet minimum − legitimate night use' },
    mnfPerConnectionLph: nn,
    averageDailyFlowLph: nn,
    mnfShareOfAdfPct: nn,
    complete: bool,
  },
  'Minimum night flow of one night (ingest/src/water/night-flow.ts)',
);

export const usageSchema = obj(
  { period: str, from: int, to: int, litres: nn, covered: bool, estimated: bool, rollovers: int, resets: int, previousLitres: nn, lastYearLitres: nn },
  'Use in one local day or month; months also carry the month before and the same month last year',
  ['period', 'from', 'to', 'litres', 'covered', 'estimated', 'rollovers', 'resets'],
);

export const readSchema = obj({
  deviceId: str, dma: str, inlet: bool, month: str,
  startIndexL: nn, endIndexL: nn, startHow: str, endHow: str, consumptionL: nn, estimated: bool, rollovers: int, resets: int,
});
