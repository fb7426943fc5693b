/** The ajv options lg-pins validates with; shared by the runtime and the build-time compiler. */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true } as const;
