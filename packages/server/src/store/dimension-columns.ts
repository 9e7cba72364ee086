import type { SummaryDimension } from '@reskpoints/core';

/** Dimensions that are one column of the calls (or of their series) in every store. */
export type ColumnDimension = Exclude<SummaryDimension, 'tag'>;

/** The column (of the calls, or of their series) that holds each column dimension, in every store. */
export const DIMENSION_COLUMN: Record<ColumnDimension, string> = {
  project: 'project_id',
  environment: 'environment',
  provider: 'provider',
  model: 'model',
  operation: 'operation',
  status: 'status',
  user: 'user_id',
  session: 'session_id',
  service: 'service_name',
};
