#!/usr/bin/env -S node --initial-old-space-size=512
// The `bench` command. Sources are TypeScript run through tsx, so there is no build step to forget. The shebang's
// V8 flag is engine/runtime/node-flags.ts's (why there).
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli.ts');
