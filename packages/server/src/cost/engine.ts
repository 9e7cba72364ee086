/**
 * The cost engine: prices a call from its normalised usage, or from usage estimated from its
 * excerpts when the source reported none.
 */
import {
  type CallCost,
  type CostCall,
  type PriceBook,
  priceCall,
  UNPRICED,
  type Usage,
  usageIsEmpty,
} from '@reskpoints/core';
import { estimateUsage } from './estimate.js';

export interface CostedCall {
  cost: CallCost;
  /** The estimated usage when tokens were estimated; null when the call's own usage was used. */
  estimatedUsage: Usage | null;
}

export function costCall(call: CostCall, book: PriceBook): CostedCall {
  if (!usageIsEmpty(call)) return { cost: priceCall(call, book), estimatedUsage: null };
  const estimated = estimateUsage(call);
  // Nothing reported and nothing to count: the cost is unknown, not $0.
  if (estimated == null) return { cost: { ...UNPRICED }, estimatedUsage: null };
  return { cost: priceCall({ ...call, usage: estimated }, book, true), estimatedUsage: estimated };
}
