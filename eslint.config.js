// Lint: ESLint's recommended rules plus typescript-eslint's, formatting left to Prettier.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'dist-bin/',
      'node_modules/',
      'fixtures/',
      // Packages run inside the VM, as a packed CLI ships them (CommonJS), not project code.
      'test/conformance/fixtures/',
      '.cache/',
      'coverage/',
      'oclif.manifest.json',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_'},
      ],
      'no-control-regex': 'off',
    },
  },
  {
    // CommonJS configuration files (.dependency-cruiser.cjs).
    files: ['**/*.cjs'],
    languageOptions: {globals: {module: 'writable', require: 'readonly'}},
  },
  prettier,
)
