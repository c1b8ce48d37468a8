this is ( not bicep {{{
