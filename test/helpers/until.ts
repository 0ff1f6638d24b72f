/** Wait until `check()` holds (polled every 25 ms); after `ms`, fail naming `what`. The outcome is the check's, never the clock's: the limit only ends a wait that would hang. */
export async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
