/**
 * Annotations from failures: the annotation query is an ordinary `failures` query; each failed
 * call in the returned table becomes one event on the time axis, tagged by service and action.
 */
import type { AnnotationEvent, AnnotationSupport, DataFrame } from '@grafana/data';
import { of } from 'rxjs';

import { DEFAULT_LIMIT, IntmonQuery } from './types';

export function failureEvents(frames: DataFrame[]): AnnotationEvent[] {
  const events: AnnotationEvent[] = [];
  for (const frame of frames) {
    const field = (name: string) => frame.fields.find((f) => f.name === name)?.values;
    const time = field('created_at');
    const service = field('service_name');
    const action = field('action');
    if (!time || !service || !action) {
      continue;
    }
    const code = field('error_code');
    const message = field('error_message');
    const id = field('id');
    for (let i = 0; i < frame.length; i++) {
      const tags = [String(service[i]), String(action[i])];
      if (code?.[i] !== null && code?.[i] !== undefined) {
        tags.push(`code:${code[i]}`);
      }
      events.push({
        time: Number(time[i]),
        title: `${service[i]} ${action[i]} failed`,
        text: message?.[i] ? String(message[i]) : 'failed without an error message',
        tags,
        id: id ? String(id[i]) : undefined,
      });
    }
  }
  return events;
}

export const annotationSupport: AnnotationSupport<IntmonQuery> = {
  getDefaultQuery: () => ({ queryType: 'failures', limit: DEFAULT_LIMIT }),
  processEvents: (_anno, frames) => of(failureEvents(frames)),
};
