/** The parts of dockerode's errors Pilot acts on. */

/** The engine's HTTP status of a failed call (404: no such object, 409: conflict), if any. */
export function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? (error as { statusCode: number }).statusCode : undefined;
}

/** The engine's own message of a failed call, for humans. */
export function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const json = (error as { json?: { message?: string } }).json;
    if (json?.message) return json.message;
  }
  return error instanceof Error ? error.message : String(error);
}
