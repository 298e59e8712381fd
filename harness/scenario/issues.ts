// One line per problem, naming the place, the key and what is allowed:
//   scenarios/x.yaml:7:9: load.mode: unknown value "clsoed" (did you mean "closed"?); allowed: closed, open, autocannon
import type { z } from 'zod';
import { allowedKeys, allowedValues, describeAt, dotted, locate, nearest, type SourceMap } from './locate.ts';
import { getAtPath, type PathKey } from './overrides.ts';

type Issue = z.core.$ZodIssue;
type JsonSchemaRoot = Parameters<typeof allowedKeys>[0];

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a map' : typeof v;

export function formatIssues(
  issues: readonly Issue[],
  raw: unknown,
  src: SourceMap,
  schema: JsonSchemaRoot,
  prefix: PathKey[] = [],
): string[] {
  return issues.flatMap((i) => formatIssue(i, raw, src, schema, prefix));
}

function formatIssue(issue: Issue, raw: unknown, src: SourceMap, schema: JsonSchemaRoot, prefix: PathKey[]): string[] {
  const path = [...prefix, ...(issue.path as PathKey[])];
  const value = getAtPath(raw, path);
  const line = (msg: string, keyOfLast = false, p = path) => `${locate(src, p, keyOfLast)}: ${dotted(p)}: ${msg}`;

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema, path);
      return issue.keys.map((k) => {
        const hint = nearest(k, allowed);
        const dym = hint ? ` (did you mean "${hint}"?)` : '';
        return line(`unknown key "${k}"${dym}; allowed: ${allowed.join(', ')}`, true, [...path, k]);
      });
    }
    case 'invalid_value':
      return [line(unknownValue(value, issue.values))];
    case 'invalid_union': {
      // A union of literals (workgroupSize: 64|128|256) reads best as one list of allowed values.
      const values = allowedValues(schema, path);
      if (values.length > 0 && value !== undefined) return [line(unknownValue(value, values))];
      const hint = describeAt(schema, path);
      if (value === undefined) return [line(`missing${hint ? ` (${hint})` : ''}`)];
      const branches = issue.errors.flat().map((e) => e.message);
      return [line(`${show(value)} is not allowed: ${hint ?? [...new Set(branches)].join('; or ')}`)];
    }
    case 'invalid_type': {
      if (value === undefined) return [line(`missing required key (expected ${issue.expected})`)];
      return [line(`expected ${issue.expected}, got ${typeName(value)} ${show(value)}`)];
    }
    case 'invalid_format':
      // Regex checks carry their own explanation ("expected a duration such as 30s").
      return [
        line(
          issue.format === 'regex'
            ? `${show(value)}: ${issue.message}`
            : `${show(value)} is not a valid ${issue.format}`,
        ),
      ];
    default:
      return [
        line(`${issue.message}${value !== undefined && typeof value !== 'object' ? ` (got ${show(value)})` : ''}`),
      ];
  }
}

function unknownValue(value: unknown, allowed: readonly unknown[]): string {
  const hint = typeof value === 'string' ? nearest(value, allowed.map(String)) : undefined;
  const dym = hint ? ` (did you mean "${hint}"?)` : '';
  return `unknown value ${show(value)}${dym}; allowed: ${allowed.map(String).join(', ')}`;
}
