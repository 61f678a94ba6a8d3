/**
 * Package root (`import { createRecorder, instrumentFetch } from 'integration-monitor'`): the
 * recorder SDK an application embeds. The server, CLI and plugin are not part of this surface.
 */
export * from './recorder/index';
