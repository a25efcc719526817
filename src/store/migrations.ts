/**
 * Which migrations exist, kept apart from their kysely code (schema.ts) so that opening a store
 * whose schema is current costs one query and never loads kysely.
 */

/** Migration names in order. A database holding a name not listed here was written by a newer portolan. */
export const MIGRATION_NAMES = ['0001_initial', '0002_assessment'] as const;

/** Raised when the database holds migrations this build does not know. */
export class NewerSchemaError extends Error {
  constructor(readonly unknown: string[]) {
    super(`schema ${unknown.join(', ')} is newer than this portolan`);
    this.name = 'NewerSchemaError';
  }
}

/** From the names a database has applied: true when nothing is left to do; throws for a newer schema. */
export function schemaIsCurrent(applied: readonly string[]): boolean {
  const known = new Set<string>(MIGRATION_NAMES);
  const unknown = applied.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new NewerSchemaError(unknown);
  return MIGRATION_NAMES.every((name) => applied.includes(name));
}
