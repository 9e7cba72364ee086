/**
 * Nelder-Mead simplex minimisation over unconstrained coordinates. Callers map bounded
 * parameters through a logistic transform, so any point the simplex visits is valid.
 */
export interface NelderMeadOptions {
  /** Stop after this many objective evaluations (default 200 per dimension). */
  maxEvaluations?: number;
  /** Stop when the simplex's objective values differ by less than this, relatively (default 1e-8). */
  tolerance?: number;
  /** Initial step along each coordinate (default 0.5). */
  step?: number;
}

export function nelderMead(
  objective: (x: readonly number[]) => number,
  start: readonly number[],
  options: NelderMeadOptions = {},
): { x: number[]; value: number } {
  const dim = start.length;
  const maxEvaluations = options.maxEvaluations ?? 200 * Math.max(1, dim);
  const tolerance = options.tolerance ?? 1e-8;
  const step = options.step ?? 0.5;
  let evaluations = 0;
  const f = (x: number[]): number => {
    evaluations++;
    const value = objective(x);
    return Number.isFinite(value) ? value : Number.MAX_VALUE;
  };
  if (dim === 0) return { x: [], value: f([]) };

  let simplex: { x: number[]; value: number }[] = [];
  simplex.push({ x: [...start], value: f([...start]) });
  for (let i = 0; i < dim; i++) {
    const x = [...start];
    x[i] = x[i]! + step;
    simplex.push({ x, value: f(x) });
  }
  const combine = (a: number[], b: number[], coefficient: number): number[] =>
    a.map((ai, i) => ai + coefficient * (b[i]! - ai));

  while (evaluations < maxEvaluations) {
    simplex.sort((a, b) => a.value - b.value);
    const best = simplex[0]!;
    const worst = simplex[dim]!;
    const spread = Math.abs(worst.value - best.value);
    if (spread <= tolerance * (Math.abs(best.value) + tolerance)) break;
    const centroid = new Array<number>(dim).fill(0);
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j < dim; j++) centroid[j] = centroid[j]! + simplex[i]!.x[j]! / dim;
    }
    // Reflection, expansion, contraction and shrink with the standard coefficients (1, 2, 0.5, 0.5).
    const reflected = combine(centroid, worst.x, -1);
    const reflectedValue = f(reflected);
    const secondWorst = simplex[dim - 1]!;
    if (reflectedValue < best.value) {
      const expanded = combine(centroid, worst.x, -2);
      const expandedValue = f(expanded);
      simplex[dim] =
        expandedValue < reflectedValue
          ? { x: expanded, value: expandedValue }
          : { x: reflected, value: reflectedValue };
    } else if (reflectedValue < secondWorst.value) {
      simplex[dim] = { x: reflected, value: reflectedValue };
    } else {
      const outside = reflectedValue < worst.value;
      const contracted = outside ? combine(centroid, reflected, 0.5) : combine(centroid, worst.x, 0.5);
      const contractedValue = f(contracted);
      if (contractedValue < Math.min(reflectedValue, worst.value)) {
        simplex[dim] = { x: contracted, value: contractedValue };
      } else {
        simplex = simplex.map((vertex, i) => {
          if (i === 0) return vertex;
          const x = combine(best.x, vertex.x, 0.5);
          return { x, value: f(x) };
        });
      }
    }
  }
  simplex.sort((a, b) => a.value - b.value);
  return simplex[0]!;
}
