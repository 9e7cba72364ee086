import type { SummaryDimension } from '@reskpoints/core';

/** The column (of the calls, or of their series) that holds each summary dimension, in every store. */
export const DIMENSION_COLUMN: Record<SummaryDimension, string> = {
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
