/**
 * Prices the calls of a batch in place: the step of the ingest path (`platform/ingest-path.ts`)
 * that gives every call its computed cost (and, when the source reported no usage, the usage
 * estimated from its excerpts), so HTTP ingest, Langfuse ingestion, the acknowledgement log's
 * replay and cluster publishing all price the same way. Re-costing uses it too.
 */
import { type LlmCall, type PriceBook, priceCall } from '@reskpoints/core';
import type { EnrichmentStep } from '../platform/module.js';
import { costCall } from './engine.js';

export function priceCalls(calls: LlmCall[], book: PriceBook): void {
  for (const call of calls) {
    const costed = costCall(call, book);
    call.cost = costed.cost;
    if (costed.estimatedUsage) call.usage = costed.estimatedUsage;
  }
}

/** `call` priced against `book`, as a new object (the stored call is left alone). */
export function repriced(call: LlmCall, book: PriceBook): LlmCall {
  // Usage estimated when the call was priced before is stored as its usage (the reported
  // counts stay empty): it is priced again as it is, and stays marked as estimated.
  if (call.cost.tokensEstimated && call.usage.totalTokens > 0) return { ...call, cost: priceCall(call, book, true) };
  const costed = costCall(call, book);
  return costed.estimatedUsage
    ? { ...call, cost: costed.cost, usage: costed.estimatedUsage }
    : { ...call, cost: costed.cost };
}

/** The ingest path's pricing step (order 200, as the enrichment conventions say). */
export interface PricingStep extends EnrichmentStep {
  /** The price book the step prices with now; re-costing uses the same one. */
  book(): PriceBook;
}

/** `enabled` is read per batch (a hot-reloadable switch); when it says false, calls stay unpriced. */
export function pricingStep(book: () => PriceBook, enabled: () => boolean = () => true): PricingStep {
  return {
    name: 'pricing',
    order: 200,
    book,
    enrich(batch) {
      if (!enabled()) return;
      priceCalls(batch.llmCalls, book());
    },
  };
}

/** The price book of the chain's pricing step, if it has one. */
export function pricingBookOf(steps: readonly EnrichmentStep[]): (() => PriceBook) | null {
  const step = steps.find((s) => s.name === 'pricing') as Partial<PricingStep> | undefined;
  return step?.book ? () => (step as PricingStep).book() : null;
}

/**
 * The enrichment chain with pricing in it: `steps` as given when one of them prices calls
 * already, else with a pricing step over the built-in catalogue added in order.
 */
export function withPricing(steps: readonly EnrichmentStep[], catalogueBook: () => PriceBook): EnrichmentStep[] {
  if (steps.some((s) => s.name === 'pricing')) return [...steps];
  return [...steps, pricingStep(catalogueBook)].sort((a, b) => a.order - b.order);
}
