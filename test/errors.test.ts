import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as errors from '../src/errors.ts';
import { errorFromCode, InternalError, isErrorCode, SabcacheError, WalGapError } from '../src/errors.ts';

test('every error class has a code of the catalogue, and errorFromCode makes each again with its class', () => {
  const classes = Object.values(errors).filter((v): v is typeof SabcacheError => typeof v === 'function' && v.prototype instanceof SabcacheError);
  assert.ok(classes.length >= 30, `${classes.length} classes`);
  const seen = new Set<string>();
  for (const C of classes) {
    const e = errorFromCode(codeOf(C), 'crossed a thread');
    assert.ok(e instanceof C, `${C.name}: instanceof`);
    assert.equal(e.name, C.name);
    assert.equal(e.message, 'crossed a thread');
    assert.ok(isErrorCode(e.code));
    seen.add(e.code);
  }
  assert.equal(seen.size, classes.length, 'one class per code');
});

test('a code that is not sabcache\'s becomes an InternalError naming it', () => {
  const e = errorFromCode('EACCES', 'permission denied');
  assert.ok(e instanceof InternalError);
  assert.equal(e.code, 'SABCACHE_ERR_INTERNAL');
  assert.match(e.message, /EACCES: permission denied/);
  assert.equal(errorFromCode(undefined, 'boom').message, 'boom');
});

test('a remade error keeps the message it had, not its constructor\'s text', () => {
  const e = errorFromCode('SABCACHE_ERR_WAL_GAP', 'the WAL is missing records 4 to 6');
  assert.ok(e instanceof WalGapError);
  assert.equal(e.message, 'the WAL is missing records 4 to 6');
});

/** The code a class's instances carry: made with placeholder arguments. */
function codeOf(C: typeof SabcacheError): string {
  const made = Reflect.construct(C, ['x', 'x', 'x']) as SabcacheError;
  return made.code;
}
