/**
 * Checking a control request's params: each handler takes them as they
 * came off the wire and reads them through these, so a bad one is an
 * EINVAL answer naming the param, never a throw of another kind.
 */
import { ControlError } from './control-error.js';

export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw new ControlError('EINVAL', `${name} must be a non-empty string`);
  return value;
}

export function requiredString(value: unknown, name: string): string {
  const text = optionalString(value, name);
  if (text === undefined) throw new ControlError('EINVAL', `${name} is missing`);
  return text;
}

export function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ControlError('EINVAL', `${name} must be true or false`);
  return value;
}

export function optionalStrings(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw new ControlError('EINVAL', `${name} must be a list of paths`);
  return value as string[];
}
