namespace Codebuff.Server.Data;

// Labels are mapped to the native PostgreSQL enums by Npgsql's snake_case translator
// (Free -> free, Cancelled -> cancelled); declaration order matches the database.
public enum ReferralStatus { Pending, Completed }
public enum ApiKeyType { Anthropic, Gemini, Openai }
public enum GrantType { Free, Referral, Purchase, Admin, Organization }
public enum SessionType { Web, Pat, Cli }
public enum AgentRunStatus { Running, Completed, Failed, Cancelled }
public enum AgentStepStatus { Running, Completed, Skipped }
public enum OrgRole { Owner, Admin, Member }
