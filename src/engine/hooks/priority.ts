/** The `priority` option every hook's config schema accepts. */
import { z } from 'zod';

export const priority = z.union([z.string(), z.number()]).optional();
