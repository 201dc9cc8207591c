/** The `code` of what `call` rejects with, or 'no error'. */
export async function errorCode(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'no error';
}
