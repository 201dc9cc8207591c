import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globPrefix, globRegExp } from '../../src/server/redis-glob.ts';

test('globs match as Redis stringmatchlen does: * ? [class] [^class] \\escape, any bytes', () => {
  const m = (g: string, s: string): boolean => globRegExp(g).test(s);
  assert.ok(m('user:*', 'user:') && m('user:*', 'user:1\n2') && !m('user:*', 'use'));
  assert.ok(m('h?llo', 'hello') && m('h?llo', 'h\xffllo') && !m('h?llo', 'hllo'));
  assert.ok(m('h[ae]llo', 'hallo') && !m('h[ae]llo', 'hillo'));
  assert.ok(m('h[^e]llo', 'hallo') && !m('h[^e]llo', 'hello'));
  assert.ok(m('h[a-c]llo', 'hbllo') && !m('h[a-c]llo', 'hdllo'));
  assert.ok(m('a\\*b', 'a*b') && !m('a\\*b', 'axb'));
  assert.ok(m('a.b+(c)', 'a.b+(c)') && !m('a.b', 'axb'), 'RegExp metacharacters are literal');
  assert.ok(m('[abc', '[abc'), 'an unclosed class is a literal [');
});

test('globPrefix is the literal part a scan can narrow by', () => {
  assert.equal(globPrefix('user:*'), 'user:');
  assert.equal(globPrefix('a?b'), 'a');
  assert.equal(globPrefix('*x'), '');
  assert.equal(globPrefix('plain'), 'plain');
  assert.equal(globPrefix('a\\*'), 'a');
});
