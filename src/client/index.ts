/**
 * `sabcache/client`: typed clients for a sabcache server, for Node 20 and browsers.
 *
 * @module
 */
export { HttpClient } from './http-client.ts';
export type { ClientEntry, ClientSetOptions, HttpClientOptions } from './http-client.ts';
export { WsClient } from './ws-client.ts';
export type { WatchEvent, WatchListener, WebSocketConstructor, WebSocketLike, WsClientOptions } from './ws-client.ts';
export { SabcacheError } from '../errors.ts';
