/** Errors as values: one tagged union for everything that can go wrong at the API edge. */
import * as E from 'fp-ts/Either';

/**
 * Every error loopgrad reports. Each has a `path` saying where (cell › step › eqn, file field
 * path, time step) and a message saying what was found and what was expected. The tags are
 * documented in `docs/errors.md`.
 * @since 0.1.0
 * @category model
 */
export type LoopgradIssue =
  | { readonly _tag: 'ShapeError'; readonly path: readonly string[]; readonly op: string; readonly message: string }
  | { readonly _tag: 'CellSpecError'; readonly path: readonly string[]; readonly message: string }
  | { readonly _tag: 'DecodeError'; readonly path: readonly string[]; readonly message: string }
  | { readonly _tag: 'InputError'; readonly path: readonly string[]; readonly message: string }
  | { readonly _tag: 'OptionError'; readonly path: readonly string[]; readonly message: string }
  | { readonly _tag: 'NumericError'; readonly path: readonly string[]; readonly message: string };

/** The tags of {@link LoopgradIssue}. @since 0.1.0 @category model */
export type IssueTag = LoopgradIssue['_tag'];

/** Builds an issue. @since 0.1.0 @category constructors */
export const issue = <T extends IssueTag>(
  _tag: T,
  path: readonly string[],
  message: string,
  op?: string,
): LoopgradIssue =>
  (_tag === 'ShapeError'
    ? { _tag, path, op: op ?? '?', message }
    : { _tag, path, message }) as LoopgradIssue;

/** One line per issue: `mgu › step › eqn 4 (matvec): W_h is [8, 11] but ... `. @since 0.1.0 @category destructors */
export const formatIssue = (e: LoopgradIssue): string =>
  `${e.path.length > 0 ? e.path.join(' › ') + ': ' : ''}${e.message}`;

/** All issues, one per line. @since 0.1.0 @category destructors */
export const formatIssues = (es: readonly LoopgradIssue[]): string => es.map(formatIssue).join('\n');

/**
 * The exception form of a list of issues, for the places where a value cannot be returned
 * (a throwing convenience API, the CLI). `issues` keeps the typed values.
 * @since 0.1.0
 * @category model
 */
export class LoopgradError extends Error {
  override readonly name = 'LoopgradError';
  constructor(readonly issues: readonly LoopgradIssue[]) {
    super(formatIssues(issues));
  }
}

/** An invariant that validation should have made impossible: a bug in loopgrad. @since 0.1.0 @category model */
export class InternalError extends Error {
  override readonly name = 'InternalError';
  constructor(message: string) {
    super(`internal: ${message}`);
  }
}

/** Unwraps a `Right` or throws a {@link LoopgradError} carrying the issues. @since 0.1.0 @category destructors */
export const getOrThrow = <A>(e: E.Either<readonly LoopgradIssue[], A>): A => {
  if (E.isLeft(e)) throw new LoopgradError(e.left);
  return e.right;
};
