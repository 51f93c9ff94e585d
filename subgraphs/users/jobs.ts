import { z } from 'zod';
import { announcedEvent } from '../shared/notification-events.ts';

/** Announced when a user is created, for the notifications capability (which records and delivers it). */
export const userSignup = announcedEvent('USER_SIGNUP', z.object({ userId: z.string(), name: z.string(), email: z.string() }));
