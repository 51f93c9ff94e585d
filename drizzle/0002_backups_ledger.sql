CREATE SCHEMA "backups";
--> statement-breakpoint
CREATE TYPE "backups"."upload_outcome" AS ENUM('pending', 'accepted', 'slot-used', 'rejected');--> statement-breakpoint
CREATE TABLE "backups"."uploads" (
	"day" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"outcome" "backups"."upload_outcome" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status" integer,
	"last_error" text,
	"covers_to" timestamp (3) with time zone,
	"dumps" integer,
	"size" bigint,
	"sha256" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
