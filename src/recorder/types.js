"use strict";
/**
 * Public types of the recorder SDK. A `LogRow` mirrors one `integration_logs` row exactly (the
 * seed's columns); everything else describes how calls are tracked.
 */
Object.defineProperty(exports, "__esModule", { value: true });
//# sourceMappingURL=types.js.map