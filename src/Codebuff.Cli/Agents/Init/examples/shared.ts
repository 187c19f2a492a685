// Sibling modules may hold shared prompts and constants; import them with a relative path.
export const REVIEW_STEPS = `1. Run git diff
2. Read the files that changed
3. Review the changes and suggest improvements`
